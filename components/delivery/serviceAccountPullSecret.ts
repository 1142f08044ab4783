/**
 * ServiceAccountPullSecret: our one entry in a service account's `imagePullSecrets`, as a Pulumi resource. It replaces
 * a server-side-apply `ServiceAccountPatch`, which must own the whole atomic list: this adds and removes only our
 * entry, refuses in the preview a list that server-side apply owns elsewhere or a service account that is missing,
 * and shows a removed entry as drift on refresh.
 *
 * A dynamic resource: Pulumi's dynamic provider host runs its provider from the `__provider` text in its inputs.
 * That text is the source of three small modules and their loader (`reset/runtimeSource.ts`), written once per
 * program without Pulumi's closure serializer, so a stack with hundreds of references declares them about as fast
 * as the same number of Kubernetes patches. `@kubernetes/client-node` is loaded inside the provider host only.
 */
import * as pulumi from "@pulumi/pulumi";
import { shippedProviderSource, shippedRuntime } from "../reset/runtimeSource";

/** The modules the provider runs, in load order. */
export const REFERENCE_RUNTIME_MODULES = ["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"] as const;

/** The resource's type token, as the engine and the state know it. */
export const SERVICE_ACCOUNT_PULL_SECRET_TYPE = "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret";

export interface ServiceAccountPullSecretArgs {
    /** Contents of the cluster's kubeconfig (kept secret): the same connection as the cluster's Kubernetes provider. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Namespace of the service account. */
    readonly namespace: pulumi.Input<string>;
    /** The service account whose `imagePullSecrets` gets the entry. It must exist. */
    readonly serviceAccount: pulumi.Input<string>;
    /** Name of the pull secret the entry references. */
    readonly secretName: pulumi.Input<string>;
}

let providerSource: string | undefined;

/** The provider's text, read and written once per program. */
function referenceProviderSource(): string {
    providerSource ??= shippedProviderSource(
        shippedRuntime(__dirname, __filename.endsWith(".ts"), REFERENCE_RUNTIME_MODULES),
        "pullSecretReferenceProvider",
        "pullSecretReferenceProvider",
    );
    return providerSource;
}

/** One service account's reference to the pull secret. */
export class ServiceAccountPullSecret extends pulumi.CustomResource {
    /** True when this resource added the entry; false when it found it listed and adopted it (then it never removes it). */
    declare public readonly added: pulumi.Output<boolean>;
    /** Whether the entry was listed when last created, updated or refreshed. */
    declare public readonly listed: pulumi.Output<boolean>;

    constructor(name: string, args: ServiceAccountPullSecretArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            SERVICE_ACCOUNT_PULL_SECRET_TYPE,
            name,
            {
                ...args,
                kubeconfig: pulumi.secret(args.kubeconfig),
                added: undefined,
                listed: undefined,
                __provider: referenceProviderSource(),
            },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["kubeconfig"] }),
        );
    }
}
