// `npm run dev -- <command>`: the CLI straight from the TypeScript sources (through tsx), for development.
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
