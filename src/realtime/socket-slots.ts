/**
 * How many sockets each user holds on this instance — open, or between their upgrade and `open` — against a
 * per-user cap. Taking a slot is synchronous, so upgrades racing each other cannot overshoot the cap.
 */
export class UserSocketSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  /** Takes one of the user's slots; "full" when they already hold the maximum. */
  take(userId: string): "taken" | "full" {
    const held = this.held.get(userId) ?? 0;
    if (held >= this.maxPerUser) return "full";
    this.held.set(userId, held + 1);
    return "taken";
  }

  /** Gives one slot back; the caller gives back each slot it took exactly once. */
  give(userId: string): void {
    const held = this.held.get(userId) ?? 0;
    if (held <= 1) this.held.delete(userId);
    else this.held.set(userId, held - 1);
  }
}
