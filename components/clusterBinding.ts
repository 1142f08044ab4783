/**
 * Binds an existing AKS cluster to a service principal's credentials: a Pulumi dynamic resource whose create and
 * update call the `resetServicePrincipalProfile` action (ARM rejects a changed profile on PUT), whose read reports
 * the client id the cluster really uses, and whose delete refuses, restores or leaves as the user chose.
 *
 * Pulumi serializes the provider into the state on every run. Its methods do their work in
 * `reset/bindingProvider.ts`, which travels as its own source text (see `reset/runtimeSource.ts`), so the serializer
 * walks a handful of small functions instead of every function of the reset. Every credential and the secret travel
 * as (secret) inputs, and the Azure SDKs are loaded inside the methods, so neither program start-up nor the
 * serialized text carries them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AzureEnvironment } from "./azureIds";
import type { BindingProvider } from "./reset/bindingProvider";
import { BINDING_DELETE_POLICIES, type bindingDiff, type BindingDeletePolicy, type BindingState } from "./reset/bindingState";
import { lazyRuntimeExport, shippedRuntime } from "./reset/runtimeSource";
import { ValidationError, type Problem } from "./validation";

export { BINDING_DELETE_POLICIES };
export type { BindingDeletePolicy, BindingState };

/** How the binding signs in to the cluster's tenant. Absent client id means DefaultAzureCredential. */
export interface BindingSignIn {
    /** Client id of the deploying application. */
    readonly clientId?: string;
    /** Its client secret (secret). */
    readonly clientSecret?: pulumi.Input<string>;
    /** Federate with the CI's OIDC token instead of a secret. */
    readonly useOidc?: boolean;
}

export interface ClusterCredentialBindingArgs {
    /** Subscription of the AKS cluster. */
    readonly subscriptionId: string;
    /** Resource group of the AKS cluster. */
    readonly resourceGroupName: string;
    /** Name of the AKS cluster. */
    readonly clusterName: string;
    /** Entra tenant of the cluster; credentials are restricted to it. */
    readonly tenantId: string;
    /** Azure cloud; picks the ARM endpoint and the sign-in authority. Default `public`. */
    readonly azureEnvironment?: AzureEnvironment;
    /** Client id the cluster must use. */
    readonly clientId: pulumi.Input<string>;
    /** Client secret the cluster must use (kept secret). */
    readonly secret: pulumi.Input<string>;
    /** Deletion behaviour. Default `refuse`. */
    readonly deletePolicy?: BindingDeletePolicy;
    /** With `deletePolicy: "restore"`: the service principal to switch the cluster back to (secret). */
    readonly restore?: { readonly clientId: pulumi.Input<string>; readonly secret: pulumi.Input<string> };
    /** Overall deadline of one reset, retries and waiting included. Default 60 minutes. */
    readonly timeoutMinutes?: number;
    /** How to sign in. Default: DefaultAzureCredential restricted to `tenantId`. */
    readonly signIn?: BindingSignIn;
    /**
     * ARM endpoint of a private or sovereign cloud that `azureEnvironment` does not name, such as Azure Stack Hub
     * (e.g. `https://management.local.azurestack.external`): an https origin, no path. Tokens are requested for
     * `${armEndpoint}/.default`, so the cloud's ARM must accept that audience. Default: the ARM endpoint of
     * `azureEnvironment`.
     */
    readonly armEndpoint?: string;
    /**
     * Sign-in host of such a cloud: an https origin, no path; the tenant is appended. Instance discovery is turned
     * off when it is given, because Entra's discovery service only knows the public clouds' authorities, so it must
     * be a host you trust. Default: the sign-in host of `azureEnvironment`.
     */
    readonly authorityHost?: string;
    /**
     * Seconds between polls of the reset operation, and the base of the retry backoff. AKS resets take minutes,
     * so polling faster only spends ARM read quota. Default 15.
     */
    readonly pollIntervalSeconds?: number;
    /**
     * The cluster was created with exactly these credentials (a stack that owns its cluster feeds it the
     * component's `servicePrincipalProfile`). Create then reads the cluster and, when it already uses this client
     * id, records the binding without a reset, which would roll the nodes of a cluster just created. Later
     * changes reset as usual. Default false.
     */
    readonly initialCredentialsApplied?: boolean;
}

/** Inputs that would put the secret or a credential in plain text in the state if not marked. */
export const BINDING_SECRET_OUTPUTS = ["secret", "restoreSecret", "signInClientSecret"] as const;

/**
 * The provider Pulumi serializes into the state. Every method loads the shipped runtime once per provider process
 * and delegates to it; `diff`, which every preview calls, loads only the modules up to `bindingState`. Nothing here
 * may capture a module of this package: Pulumi serializes such a capture as `require("aks-acr-cross-tenant/lib/...")`,
 * which the package's `exports` refuse when a stack installs the library (the examples' test under the engine found
 * that), and which would tie the state to one build of it.
 */
function shippedBindingProvider(): BindingProvider {
    const runtime = shippedRuntime();
    const provider = lazyRuntimeExport<BindingProvider>(runtime, "bindingProvider", "bindingProvider");
    const diff = lazyRuntimeExport<typeof bindingDiff>(
        runtime.slice(0, runtime.findIndex((shipped) => shipped.name === "bindingState") + 1),
        "bindingState",
        "bindingDiff",
    );
    return {
        diff: (_id, olds, news) => Promise.resolve(diff()(olds, news)),
        create: (inputs) => provider().create(inputs),
        read: (id, props) => provider().read(id, props),
        update: (id, olds, news) => provider().update(id, olds, news),
        delete: (id, props) => provider().delete(id, props),
    };
}

/** The binding's provider, as Pulumi serializes it into the state. */
export const clusterCredentialBindingProvider = shippedBindingProvider();

function trimSlashes(url: string): string {
    return url.trim().replace(/\/+$/, "");
}

/** Problems with the endpoint and polling overrides; the rest is checked by the component or the reset itself. */
function bindingProblems(args: ClusterCredentialBindingArgs): Problem[] {
    const problems: Problem[] = [];
    for (const key of ["armEndpoint", "authorityHost"] as const) {
        const value = args[key];
        if (value !== undefined && !isHttpsUrl(trimSlashes(value))) {
            problems.push({
                key,
                value: JSON.stringify(value),
                expected: "an https URL without a path, query or fragment, e.g. https://management.local.azurestack.external",
            });
        }
    }
    const poll = args.pollIntervalSeconds;
    if (poll !== undefined && !(Number.isFinite(poll) && poll > 0)) {
        problems.push({ key: "pollIntervalSeconds", value: String(poll), expected: "a positive number of seconds" });
    }
    return problems;
}

function isHttpsUrl(text: string): boolean {
    try {
        const url = new URL(text);
        // The SDKs append the tenant (authority) or the API paths (ARM) to these origins: a path or query would end up in the wrong place.
        return url.protocol === "https:" && (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
    } catch {
        return false;
    }
}

/** Flattens the args into the provider's inputs. */
function bindingInputs(args: ClusterCredentialBindingArgs): pulumi.Inputs {
    return {
        subscriptionId: args.subscriptionId,
        resourceGroupName: args.resourceGroupName,
        clusterName: args.clusterName,
        tenantId: args.tenantId,
        azureEnvironment: args.azureEnvironment ?? "public",
        clientId: args.clientId,
        secret: pulumi.secret(args.secret),
        deletePolicy: args.deletePolicy ?? "refuse",
        restoreClientId: args.restore?.clientId,
        restoreSecret: args.restore ? pulumi.secret(args.restore.secret) : undefined,
        timeoutMinutes: args.timeoutMinutes ?? 60,
        signInClientId: args.signIn?.clientId,
        signInClientSecret: args.signIn?.clientSecret === undefined ? undefined : pulumi.secret(args.signIn.clientSecret),
        useOidc: args.signIn?.useOidc ?? false,
        // Left out when not given, so stacks deployed before these settings existed see no change.
        armEndpoint: args.armEndpoint === undefined ? undefined : trimSlashes(args.armEndpoint),
        authorityHost: args.authorityHost === undefined ? undefined : trimSlashes(args.authorityHost),
        pollIntervalSeconds: args.pollIntervalSeconds,
        initialCredentialsApplied: args.initialCredentialsApplied,
        previousClientId: undefined,
        clusterClientId: undefined,
    };
}

/**
 * Switches an existing AKS cluster to the given service principal and keeps it there: new credentials reset it
 * again in place, a refresh shows drift, and deletion follows `deletePolicy`.
 */
export class ClusterCredentialBinding extends pulumi.dynamic.Resource {
    /** Client id the cluster used before the first switch. */
    declare public readonly previousClientId: pulumi.Output<string>;
    /** Client id the cluster really uses, as last read or set. */
    declare public readonly clusterClientId: pulumi.Output<string>;

    /** @throws {ValidationError} when an endpoint is not an https URL or the poll interval is not positive. */
    constructor(name: string, args: ClusterCredentialBindingArgs, opts?: pulumi.CustomResourceOptions) {
        const problems = bindingProblems(args);
        if (problems.length > 0) {
            throw new ValidationError(`Invalid arguments for the credential binding ${name}:`, problems);
        }
        super(
            clusterCredentialBindingProvider,
            name,
            bindingInputs(args),
            pulumi.mergeOptions(opts, { additionalSecretOutputs: [...BINDING_SECRET_OUTPUTS] }),
            "aks-acr-cross-tenant",
            "ClusterCredentialBinding",
        );
    }
}
