import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "./trpc.ts";

/**
 * A file's thumbnail (an attachment, a person's or a room's avatar): its signed URL, asked for when it is shown.
 * Signed URLs last 5 minutes (files.url); kept 4, so the one an <img> gets has not expired. `fileId` null: none.
 */
export function useThumbnailUrl(fileId: string | null): string | undefined {
  const trpc = useTRPC();
  const thumbnail = useQuery(trpc.files.url.queryOptions({ fileId: fileId ?? "", variant: "thumbnail" }, { enabled: fileId !== null, staleTime: 4 * 60_000 }));
  return fileId === null ? undefined : thumbnail.data?.url;
}
