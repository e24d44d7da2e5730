/** A minimal typed event emitter: `on` returns its own unsubscribe; a throwing handler does not stop the others. */
export interface Emitter<Events extends Record<string, unknown>> {
  on<K extends keyof Events>(type: K, handler: (event: Events[K]) => void): () => void;
  emit<K extends keyof Events>(type: K, event: Events[K]): void;
}

export function createEmitter<Events extends Record<string, unknown>>(onHandlerError: (error: unknown) => void): Emitter<Events> {
  const handlers = new Map<keyof Events, Set<(event: never) => void>>();
  return {
    on(type, handler) {
      let set = handlers.get(type);
      if (!set) handlers.set(type, (set = new Set()));
      set.add(handler as (event: never) => void);
      return () => void set.delete(handler as (event: never) => void);
    },
    emit(type, event) {
      for (const handler of handlers.get(type) ?? []) {
        try {
          (handler as (event: Events[typeof type]) => void)(event);
        } catch (error) {
          onHandlerError(error);
        }
      }
    },
  };
}
