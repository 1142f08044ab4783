/**
 * ServiceAccountPullSecret: our one entry in a service account's `imagePullSecrets`, as a Pulumi resource. It replaces
 * a server-side-apply `ServiceAccountPatch`, which must own the whole atomic list: this adds and removes only our
 * entry, refuses in the preview a list that server-side apply owns elsewhere or a service account that is missing,
 * and shows a removed entry as drift on refresh.
 *
 * Pulumi serializes the provider into the state on every run; its methods travel as the source text of three small
 * modules (`reset/runtimeSource.ts`), and `@kubernetes/client-node` is loaded inside the provider host only.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PullSecretReferenceProvider, PullSecretReferenceState } from "./pullSecretReferenceProvider";
import { lazyRuntimeExport, shippedRuntime } from "../reset/runtimeSource";

/** The modules the provider runs, in load order. */
export const REFERENCE_RUNTIME_MODULES = ["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"] as const;

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

function shippedProvider(): pulumi.dynamic.ResourceProvider<PullSecretReferenceState, PullSecretReferenceState> {
    const provider = lazyRuntimeExport<PullSecretReferenceProvider>(
        shippedRuntime(__dirname, __filename.endsWith(".ts"), REFERENCE_RUNTIME_MODULES),
        "pullSecretReferenceProvider",
        "pullSecretReferenceProvider",
    );
    return {
        check: (olds, news) => provider().check(olds, news),
        diff: (id, olds, news) => provider().diff(id, olds, news),
        create: (inputs) => provider().create(inputs),
        read: (id, props) => provider().read(id, props),
        update: (id, olds, news) => provider().update(id, olds, news),
        delete: (id, props) => provider().delete(id, props),
    };
}

let provider: pulumi.dynamic.ResourceProvider<PullSecretReferenceState, PullSecretReferenceState> | undefined;

/** One service account's reference to the pull secret. */
export class ServiceAccountPullSecret extends pulumi.dynamic.Resource {
    /** True when this resource added the entry; false when it found it listed and adopted it (then it never removes it). */
    declare public readonly added: pulumi.Output<boolean>;
    /** Whether the entry was listed when last created, updated or refreshed. */
    declare public readonly listed: pulumi.Output<boolean>;

    constructor(name: string, args: ServiceAccountPullSecretArgs, opts?: pulumi.CustomResourceOptions) {
        provider ??= shippedProvider();
        super(
            provider,
            name,
            { ...args, kubeconfig: pulumi.secret(args.kubeconfig), added: undefined, listed: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["kubeconfig"] }),
            "aks-acr-cross-tenant",
            "ServiceAccountPullSecret",
        );
    }
}
