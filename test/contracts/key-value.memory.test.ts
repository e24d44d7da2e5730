import { createMemoryKeyValueStore } from "../../src/infra/kv/memory.ts";
import { testKeyValueStore } from "./key-value.contract.ts";

testKeyValueStore("memory", {
  createStore: async (clock) => createMemoryKeyValueStore({ clock }),
  time: "injected",
});
