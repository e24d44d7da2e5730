import type { AuthService } from "./auth/auth.service.ts";
import type { MessageService } from "./messages/messages.service.ts";
import type { RoomService } from "./rooms/rooms.service.ts";
import type { UserService } from "./users/users.service.ts";

/** Everything the transports may call. Built once by the composition root (src/deps.ts). */
export interface Services {
  auth: AuthService;
  users: UserService;
  rooms: RoomService;
  messages: MessageService;
}
