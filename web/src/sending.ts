import { parley } from "./parley.ts";
import { createPendingStore } from "./pending.ts";

/** The app's one pending-message store, sending through the SDK's realtime outbox. */
export const pending = createPendingStore((roomId, body, options) => parley.realtime.send(roomId, body, options));
