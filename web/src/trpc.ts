import type { AppRouter } from "@parley/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";

/** `useTRPC()` gives typed query and mutation options for every procedure: `trpc.rooms.list.queryOptions()`. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
