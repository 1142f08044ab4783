/**
 * The provider of the service-account references (`ServiceAccountPullSecret`): one Pulumi provider resource per
 * cluster connection, holding in its configuration what every reference would otherwise carry in its own state, the
 * kubeconfig and the provider's runtime source.
 *
 * A dynamic resource's provider travels as the `__provider` text in its inputs, and the host copies it into its
 * outputs: about 20 KB twice per reference when the runtime rode along, plus the encrypted kubeconfig twice, 40 KB
 * per reference in all and rewritten with the whole state after every step. Here each reference's text is a stub
 * of a few hundred characters (`configuredProviderStub`), and the engine hands this resource's configuration to the
 * provider process it starts for it, once. One provider resource is one provider process, and so one connection to
 * the API server for every reference it serves (`pullSecretReferenceRuntime.coreV1Api`).
 *
 * The engine does not replace resources whose provider changes from the default one to this (the host implements no
 * `DiffConfig`, so the engine asks no replacement): references deployed by earlier versions move over in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { configuredProviderStub, shippedProviderSource, shippedRuntime } from "../reset/runtimeSource";

/** The modules the references' provider runs, in load order. */
export const REFERENCE_RUNTIME_MODULES = ["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"] as const;

/** The configuration keys the stub reads (a colon keeps `Config.get` from prefixing the project's name). */
export const REFERENCE_PROVIDER_KEYS = {
    source: "aks-acr-cross-tenant:referenceProvider",
    argument: "aks-acr-cross-tenant:kubeconfig",
} as const;

/** The `__provider` text of every reference: the same stub, whatever the cluster. */
export const REFERENCE_PROVIDER_STUB = configuredProviderStub(REFERENCE_PROVIDER_KEYS);

let providerSource: string | undefined;

/** The provider's module text (its runtime, comment lines removed), read once per program. */
function referenceProviderSource(): string {
    providerSource ??= shippedProviderSource(
        shippedRuntime(__dirname, __filename.endsWith(".ts"), REFERENCE_RUNTIME_MODULES),
        "pullSecretReferenceProvider",
        "referenceProviderFor",
    );
    return providerSource;
}

export interface ServiceAccountPullSecretProviderArgs {
    /** Contents of the cluster's kubeconfig (kept secret): the same connection as the cluster's Kubernetes provider. */
    readonly kubeconfig: pulumi.Input<string>;
}

/** The provider every `ServiceAccountPullSecret` of one cluster names in its `provider` option. */
export class ServiceAccountPullSecretProvider extends pulumi.ProviderResource {
    constructor(name: string, args: ServiceAccountPullSecretProviderArgs, opts?: pulumi.ResourceOptions) {
        super(
            "pulumi-nodejs",
            name,
            {
                [REFERENCE_PROVIDER_KEYS.argument]: pulumi.secret(args.kubeconfig),
                [REFERENCE_PROVIDER_KEYS.source]: referenceProviderSource(),
            },
            opts,
        );
    }
}
