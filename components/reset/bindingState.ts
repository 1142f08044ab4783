/**
 * The cluster binding's state, and how a change of it is carried out. Shipped with the binding's runtime (see
 * `runtimeSource.ts`), and used by the program too: every preview runs `bindingDiff` in the program's own serialized
 * provider, without loading the runtime.
 */
import type { ARM_ENDPOINTS } from "./clouds";

/** What happens to the cluster when the binding is deleted (destroy, or the binding removed from the program). */
export type BindingDeletePolicy = "refuse" | "restore" | "leave";

export const BINDING_DELETE_POLICIES: readonly BindingDeletePolicy[] = ["refuse", "restore", "leave"];

/** Azure cloud of a binding (the keys of the cloud tables). */
export type BindingCloud = keyof typeof ARM_ENDPOINTS;

/** The provider's inputs and outputs: flat, serializable, secrets marked by the resource options. */
export interface BindingState {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly clusterName: string;
    readonly tenantId: string;
    readonly azureEnvironment: BindingCloud;
    readonly clientId: string;
    readonly secret: string;
    readonly deletePolicy: BindingDeletePolicy;
    readonly restoreClientId?: string;
    readonly restoreSecret?: string;
    readonly timeoutMinutes: number;
    readonly signInClientId?: string;
    readonly signInClientSecret?: string;
    readonly useOidc: boolean;
    /** Custom ARM endpoint; absent means the one of `azureEnvironment`. */
    readonly armEndpoint?: string;
    /** Custom sign-in host; absent means the one of `azureEnvironment`. */
    readonly authorityHost?: string;
    /** Poll interval of the reset; absent means 15 seconds. */
    readonly pollIntervalSeconds?: number;
    readonly initialCredentialsApplied?: boolean;
    /** Output: the client id the cluster used before this binding first switched it. */
    readonly previousClientId?: string;
    /** Output: the client id the cluster really uses, as last seen (a refresh updates it). */
    readonly clusterClientId?: string;
}

/** Whether the cluster must be reset to reach `news`: new credentials, or drift seen by a refresh. */
export function needsReset(olds: BindingState, news: BindingState): boolean {
    return (
        olds.clientId !== news.clientId ||
        olds.secret !== news.secret ||
        (olds.clusterClientId !== undefined && olds.clusterClientId !== news.clientId)
    );
}

/**
 * The plan for going from `olds` to `news`: a different cluster is a different binding (replaced, the new one
 * created first), new credentials or drift mean a reset (an update), other settings an update that calls nothing.
 * Pulumi serializes it (and `needsReset`) into the state on every run, so it keeps its key lists to itself.
 */
export function bindingDiff(
    olds: BindingState,
    news: BindingState,
): { readonly changes: boolean; readonly replaces: string[]; readonly deleteBeforeReplace: boolean } {
    // Which cluster is bound (ARM names compare case-insensitively).
    const targetKeys = ["subscriptionId", "resourceGroupName", "clusterName"] as const;
    // What changes only the stored settings.
    const settingKeys = [
        "tenantId",
        "azureEnvironment",
        "deletePolicy",
        "restoreClientId",
        "restoreSecret",
        "timeoutMinutes",
        "signInClientId",
        "signInClientSecret",
        "useOidc",
        "armEndpoint",
        "authorityHost",
        "pollIntervalSeconds",
    ] as const;
    const replaces = targetKeys.filter((key) => String(olds[key]).toLowerCase() !== String(news[key]).toLowerCase());
    const settingsChanged = settingKeys.some((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0 || needsReset(olds, news) || settingsChanged, replaces, deleteBeforeReplace: false };
}
