import { replayBackpressureSuite } from "./replay-backpressure.contract.ts";

replayBackpressureSuite("deno");
