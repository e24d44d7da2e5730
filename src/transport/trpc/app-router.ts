import { authRouter } from "../../domain/auth/auth.router.ts";
import { moderationRouter } from "../../domain/moderation/moderation.router.ts";
import { filesRouter } from "../../domain/files/files.router.ts";
import { friendsRouter } from "../../domain/friends/friends.router.ts";
import { messagesRouter } from "../../domain/messages/messages.router.ts";
import { presenceRouter } from "../../domain/presence/presence.router.ts";
import { roomsRouter } from "../../domain/rooms/rooms.router.ts";
import { usersRouter } from "../../domain/users/users.router.ts";
import { createCallerFactory, router } from "./trpc.ts";

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  rooms: roomsRouter,
  messages: messagesRouter,
  presence: presenceRouter,
  moderation: moderationRouter,
  friends: friendsRouter,
  files: filesRouter,
});

/** Calls procedures in-process with a given context (tests, scripts): `createCaller(createInnerContext(…))`. */
export const createCaller = createCallerFactory(appRouter);
