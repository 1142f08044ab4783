/**
 * What both cluster-side deliveries (`imagePullSecret`, `federatedPullSecret`) call their pull secret and where they
 * reference it: the defaults and the forms their config keys and arguments share.
 */

/** Name of the pull secret when none is given. */
export const DEFAULT_PULL_SECRET_NAME = "acr-cross-tenant-pull";
/** Service accounts that reference the pull secret when none are given: the one pods use unless they name another. */
export const DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS: readonly string[] = ["default"];

/** Where the pull secret is referenced: the listed service accounts (default), or every new pod in the namespaces. */
export const PULL_SECRET_TARGETS = ["serviceAccounts", "pods"] as const;
export type PullSecretTarget = (typeof PULL_SECRET_TARGETS)[number];
export const PULL_SECRET_TARGET_FORM =
    "one of serviceAccounts (add the secret to the listed service accounts' imagePullSecrets), pods (add it to every new pod in the namespaces; Kubernetes 1.36 or later)";
