/** A handle as it is compared everywhere (own accounts, brand handles, contact matching): no leading @, lower case. */
export function normalizeHandle(handle: string): string {
  return handle.replace(/^[@＠]/, '').toLowerCase();
}
