// The Graph API's raw shapes, as the connector and the webhook receive them.

export interface FbFrom {
  id: string;
  name?: string;
}

/** An item of `GET /{page-id}/feed`. */
export interface FbPost {
  id: string;
  message?: string;
  story?: string;
  created_time: string;
  updated_time?: string;
  from?: FbFrom;
  permalink_url?: string;
}

/** An item of `GET /{object-id}/comments`. */
export interface FbComment {
  id: string;
  message?: string;
  created_time: string;
  from?: FbFrom;
  parent?: { id: string };
}

/** Any Graph list edge. */
export interface FbListResponse<T> {
  data: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string; previous?: string };
}

/** A Graph error body. */
export interface FbErrorBody {
  error: { message: string; type?: string; code: number; error_subcode?: number; is_transient?: boolean; fbtrace_id?: string };
}

/** A Page webhook POST body (object `page`, field `feed`). */
export interface FbWebhookPayload {
  object: string;
  entry: {
    id: string;
    time: number;
    changes?: {
      field: string;
      value: {
        item?: string;
        verb?: string;
        post_id?: string;
        comment_id?: string;
        parent_id?: string;
        created_time?: number;
        from?: FbFrom;
        message?: string;
      };
    }[];
  }[];
}

export interface RejectedFbItem {
  id: string | undefined;
  reason: string;
}
