/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_PARLEY_URL?: string;
  readonly PARLEY_URL?: string;
}
