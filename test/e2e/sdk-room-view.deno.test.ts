import { roomViewSuite } from "./sdk-room-view.contract.ts";

roomViewSuite("deno");
