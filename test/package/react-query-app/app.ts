// A React app's data layer on the packed @parley/client next to @trpc/tanstack-react-query: the SDK's own tRPC
// client (`parley.api`) is the one TRPCProvider and createTRPCOptionsProxy take — which holds only when the app
// has one copy of tRPC. Lines marked `// error TSnnnn` must fail with exactly that error (the types are real, not
// `any`); every other line must compile.
import { type AppRouter, createParleyClient } from "@parley/client";
import { QueryClient } from "@tanstack/react-query";
import { createTRPCContext, createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import type { ComponentProps } from "react";

const parley = createParleyClient({ url: "http://localhost:3000" }); // browsers have a global WebSocket
const queryClient = new QueryClient();

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
export const providerProps: ComponentProps<typeof TRPCProvider> = { trpcClient: parley.api, queryClient, children: null };

const trpc = createTRPCOptionsProxy<AppRouter>({ client: parley.api, queryClient });
export const myRooms = trpc.rooms.list.queryOptions();
export const history = trpc.messages.list.queryOptions({ roomId: "00000000-0000-4000-8000-000000000000", limit: 50 });
export const createRoom = trpc.rooms.create.mutationOptions();

export const roomNames = (): string[] => (queryClient.getQueryData(myRooms.queryKey) ?? []).map((room) => room.name);

export const unknownProcedure = trpc.rooms.nope.queryOptions(); // error TS2339
export const wrongInput = trpc.messages.list.queryOptions({ roomId: 42 }); // error TS2769
export const unknownField = (): string[] => (queryClient.getQueryData(myRooms.queryKey) ?? []).map((room) => room.title); // error TS2339
