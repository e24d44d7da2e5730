import { realtimeSuite } from "./realtime.contract.ts";

realtimeSuite("bun");
