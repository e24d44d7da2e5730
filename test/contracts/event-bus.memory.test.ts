import { createMemoryBus } from "../../src/infra/bus/memory.ts";
import { testEventBus } from "./event-bus.contract.ts";

testEventBus("memory", {
  createBus: async () => createMemoryBus(),
});
