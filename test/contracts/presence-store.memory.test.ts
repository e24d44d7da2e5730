import { createMemoryPresenceStore } from "../../src/infra/presence/memory.ts";
import { testPresenceStore } from "./presence-store.contract.ts";

testPresenceStore("memory", {
  createStore: async (clock) => createMemoryPresenceStore({ clock }),
  time: "injected",
});
