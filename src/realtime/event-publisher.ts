import type { DomainEvent, EventPublisher } from "../domain/events.ts";
import type { EventBus } from "../infra/bus/bus.ts";
import { instancesTopic, roomTopic, userTopic } from "./topics.ts";

/**
 * The one serialization of an event: what the bus carries is exactly the frame sockets receive,
 * so an instance fans it out without re-encoding it per socket.
 */
export function encodeEvent(event: DomainEvent): string {
  return JSON.stringify(event);
}

/** Services publish through the bus; every instance (this one included) fans out what it receives. */
export function createBusEventPublisher(bus: EventBus): EventPublisher {
  return {
    toRoom: (roomId, event) => bus.publish(roomTopic(roomId), encodeEvent(event)),
    toUser: (userId, event) => bus.publish(userTopic(userId), encodeEvent(event)),
    toInstances: (event) => bus.publish(instancesTopic(), encodeEvent(event)),
  };
}
