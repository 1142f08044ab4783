/**
 * ServiceAccountPullSecret: our one entry in a service account's `imagePullSecrets`, as a Pulumi resource. It replaces
 * a server-side-apply `ServiceAccountPatch`, which must own the whole atomic list: this adds and removes only our
 * entry, refuses in the preview a list that server-side apply owns elsewhere or a service account that is missing,
 * and shows a removed entry as drift on refresh.
 *
 * A dynamic resource whose provider is a `ServiceAccountPullSecretProvider` (one per cluster connection): that
 * provider resource carries the kubeconfig and the runtime once, so each reference's inputs and state hold only which
 * entry, where, and a stub of a few hundred characters. `@kubernetes/client-node` is loaded inside the provider host
 * only.
 */
import * as pulumi from "@pulumi/pulumi";
import { REFERENCE_PROVIDER_STUB, type ServiceAccountPullSecretProvider } from "./serviceAccountPullSecretProvider";

export { REFERENCE_RUNTIME_MODULES } from "./serviceAccountPullSecretProvider";

/** The resource's type token, as the engine and the state know it. */
export const SERVICE_ACCOUNT_PULL_SECRET_TYPE = "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret";

export interface ServiceAccountPullSecretArgs {
    /** Namespace of the service account. */
    readonly namespace: pulumi.Input<string>;
    /** The service account whose `imagePullSecrets` gets the entry. It must exist. */
    readonly serviceAccount: pulumi.Input<string>;
    /** Name of the pull secret the entry references. */
    readonly secretName: pulumi.Input<string>;
    /**
     * Whether the entry was listed when the program read the service account in this run, having checked that the
     * list can be shared and the service account exists (as the image pull secret delivery does). Given, the
     * provider trusts that read instead of reading again in its check, and `false` makes a missing entry an update
     * that puts it back. Leave it out to have the provider read and check the service account itself.
     */
    readonly listedWhenRead?: pulumi.Input<boolean>;
}

/** Options of a reference: the provider of its cluster is required (it holds the connection). */
export interface ServiceAccountPullSecretOptions extends pulumi.CustomResourceOptions {
    /** The references' provider for the cluster the service account lives in. */
    readonly provider: ServiceAccountPullSecretProvider;
}

/** One service account's reference to the pull secret. */
export class ServiceAccountPullSecret extends pulumi.CustomResource {
    /** True when this resource added the entry; false when it found it listed and adopted it (then it never removes it). */
    declare public readonly added: pulumi.Output<boolean>;
    /** Whether the entry was listed when last created, updated or refreshed. */
    declare public readonly listed: pulumi.Output<boolean>;

    constructor(name: string, args: ServiceAccountPullSecretArgs, opts: ServiceAccountPullSecretOptions) {
        super(
            SERVICE_ACCOUNT_PULL_SECRET_TYPE,
            name,
            { ...args, added: undefined, listed: undefined, __provider: REFERENCE_PROVIDER_STUB },
            opts,
        );
    }
}
