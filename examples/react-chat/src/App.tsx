import type { UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { AuthView } from "./AuthView.tsx";
import { ChatView } from "./ChatView.tsx";
import { parley } from "./parley.ts";
import { useTRPC } from "./trpc.ts";

type Status = "restoring" | "signed-out" | "signed-in";

/** Signed in or not. A reload signs in again from the refresh cookie (`restore()`), so it keeps the session. */
export function App() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>("restoring");
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { enabled: status === "signed-in", staleTime: Infinity }));

  useEffect(() => {
    let current = true;
    void parley.restore().then((restored) => {
      if (current) setStatus(restored ? "signed-in" : "signed-out");
    });
    return () => {
      current = false;
    };
  }, []);

  useEffect(() => {
    if (status === "signed-in") parley.realtime.connect();
  }, [status]);

  const signedIn = (user: UserProfile): void => {
    queryClient.setQueryData(trpc.auth.me.queryKey(), user);
    setStatus("signed-in");
  };
  const logout = useMutation({
    mutationFn: () => parley.logout(),
    onSettled: () => {
      queryClient.clear(); // the next user must not see this one's rooms
      setStatus("signed-out");
    },
  });

  if (status === "restoring") return <p className="loading">Loading…</p>;
  if (status === "signed-out") return <AuthView onSignedIn={signedIn} />;
  if (!me.data) return <p className="notice" data-testid="app-error">{me.error?.message ?? ""}</p>;
  return <ChatView me={me.data} onLogout={() => logout.mutate()} />;
}
