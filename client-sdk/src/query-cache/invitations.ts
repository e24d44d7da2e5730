import type { RoomInvitation } from "../../../src/contract.ts";

/** A change to the cached `rooms.invitations` (mine, newest first); idempotent like every cache change. */
export type InvitationsChange = (invitations: RoomInvitation[]) => RoomInvitation[];

/** A new invitation goes first, once. */
export function invitationAdded(invitation: RoomInvitation): InvitationsChange {
  return (invitations) => (invitations.some((cached) => cached.id === invitation.id) ? invitations : [invitation, ...invitations]);
}

/** Accepted, declined (on any of my devices) or cancelled: it leaves the list. */
export function invitationRemoved(invitationId: string): InvitationsChange {
  return (invitations) => (invitations.some((cached) => cached.id === invitationId) ? invitations.filter((cached) => cached.id !== invitationId) : invitations);
}
