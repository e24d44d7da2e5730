import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { RoomEventsInput } from "../room-log/room-log.schema.ts";
import { AuditLogInput } from "./room-audit.ts";
import { BanInput, MuteInput, RestrictionTarget } from "./room-moderation.ts";
import { RestrictionsInput } from "./room-restrictions.ts";
import {
  CreateGroupInput,
  CreateInviteLinkInput,
  CreateRoomInput,
  InvitationRef,
  InviteLinkRef,
  JoinByLinkInput,
  DiscoverRoomsInput,
  InviteInput,
  KickInput,
  MembersInput,
  OpenDirectInput,
  RoomRef,
  SetRoleInput,
  TransferOwnershipInput,
  UpdateRoomInput,
} from "./rooms.schema.ts";

export const roomsRouter = router({
  create: authedProcedure
    .input(CreateRoomInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.create(ctx.session.userId, input)),
  openDirect: authedProcedure
    .input(OpenDirectInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.openDirect(ctx.session.userId, input.userId)),
  list: authedProcedure.query(({ ctx }) => ctx.services.rooms.list(ctx.session.userId)),
  discover: authedProcedure
    .input(DiscoverRoomsInput)
    .query(({ ctx, input }) => ctx.services.rooms.discover(ctx.session.userId, input)),
  get: authedProcedure.input(RoomRef).query(({ ctx, input }) => ctx.services.rooms.get(ctx.session.userId, input.roomId)),
  join: authedProcedure
    .input(RoomRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.join(ctx.session.userId, input.roomId)),
  invite: authedProcedure
    .input(InviteInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.invite(ctx.session.userId, input)),
  createGroup: authedProcedure
    .input(CreateGroupInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.createGroup(ctx.session.userId, input)),
  invitations: authedProcedure.query(({ ctx }) => ctx.services.rooms.invitations(ctx.session.userId)),
  acceptInvite: authedProcedure
    .input(InvitationRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.acceptInvite(ctx.session.userId, input.invitationId)),
  declineInvite: authedProcedure
    .input(InvitationRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.declineInvite(ctx.session.userId, input.invitationId)),
  cancelInvite: authedProcedure
    .input(InvitationRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.cancelInvite(ctx.session.userId, input.invitationId)),
  createInviteLink: authedProcedure
    .input(CreateInviteLinkInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.createInviteLink(ctx.session.userId, input)),
  inviteLinks: authedProcedure
    .input(RoomRef)
    .query(({ ctx, input }) => ctx.services.rooms.inviteLinks(ctx.session.userId, input.roomId)),
  revokeInviteLink: authedProcedure
    .input(InviteLinkRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.revokeInviteLink(ctx.session.userId, input.linkId)),
  inviteLinkRoom: authedProcedure
    .input(JoinByLinkInput)
    .query(({ ctx, input }) => ctx.services.rooms.inviteLinkRoom(ctx.session.userId, input.token)),
  joinByLink: authedProcedure
    .input(JoinByLinkInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.joinByLink(ctx.session.userId, input.token)),
  leave: authedProcedure
    .input(RoomRef)
    .mutation(({ ctx, input }) => ctx.services.rooms.leave(ctx.session.userId, input.roomId)),
  kick: authedProcedure
    .input(KickInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.kick(ctx.session.userId, input)),
  setRole: authedProcedure
    .input(SetRoleInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.setRole(ctx.session.userId, input)),
  transferOwnership: authedProcedure
    .input(TransferOwnershipInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.transferOwnership(ctx.session.userId, input)),
  update: authedProcedure
    .input(UpdateRoomInput)
    .mutation(({ ctx, input }) => ctx.services.rooms.update(ctx.session.userId, input)),
  members: authedProcedure
    .input(MembersInput)
    .query(({ ctx, input }) => ctx.services.rooms.members(ctx.session.userId, input)),
  auditLog: authedProcedure
    .input(AuditLogInput)
    .query(({ ctx, input }) => ctx.services.rooms.auditLog(ctx.session.userId, input)),
  ban: authedProcedure.input(BanInput).mutation(({ ctx, input }) => ctx.services.rooms.ban(ctx.session.userId, input)),
  unban: authedProcedure.input(RestrictionTarget).mutation(({ ctx, input }) => ctx.services.rooms.unban(ctx.session.userId, input)),
  bans: authedProcedure.input(RestrictionsInput).query(({ ctx, input }) => ctx.services.rooms.bans(ctx.session.userId, input)),
  mute: authedProcedure.input(MuteInput).mutation(({ ctx, input }) => ctx.services.rooms.mute(ctx.session.userId, input)),
  unmute: authedProcedure.input(RestrictionTarget).mutation(({ ctx, input }) => ctx.services.rooms.unmute(ctx.session.userId, input)),
  mutes: authedProcedure.input(RestrictionsInput).query(({ ctx, input }) => ctx.services.rooms.mutes(ctx.session.userId, input)),
  /** The room's logged events after a seq, for a client catching up past the resume budget. */
  events: authedProcedure
    .input(RoomEventsInput)
    .query(({ ctx, input }) => ctx.services.roomLog.page(ctx.session.userId, input)),
});
