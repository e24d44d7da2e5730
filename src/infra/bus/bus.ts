/**
 * Carries serialized events between instances. Each instance holds at most one broker subscription per topic,
 * however many local listeners it has (refcounted), and only for topics it has listeners for.
 */
export type Unsubscribe = () => void;

export type BusStatus = "up" | "down";

export interface EventBus {
  /** Resolves once the broker accepted the message; rejects when it could not be handed over. */
  publish(topic: string, message: string): Promise<void>;
  /** Resolves once the broker subscription is live, so nothing published afterwards is missed. */
  subscribe(topic: string, onMessage: (message: string) => void): Promise<Unsubscribe>;
  /** Topics this instance currently holds a broker subscription for. */
  subscribedTopics(): string[];
  /**
   * Called when the link to the broker goes down or comes back. Messages published while it was down are lost
   * to this instance: listeners must reconcile from the source of truth when it comes back "up".
   */
  onStatus(listener: (status: BusStatus) => void): Unsubscribe;
  close(): Promise<void>;
}
