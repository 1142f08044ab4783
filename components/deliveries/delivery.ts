/**
 * The one interface every delivery implements, the way cert-manager's issuer types implement `issuer.Interface`
 * and External Secrets Operator's providers register into one table: the component (`crossTenantAcrPull.ts`), the
 * stack config (`config.ts`) and the validator know a delivery only through this and the table in `index.ts`.
 *
 * A delivery owns, in its folder: its stack config keys (`configKeys`, read by `settings`), how those settings
 * become the component's arguments (`componentArgs`), the checks of its library argument (`checkArgument`), and
 * its plan (`plan`): what it checks before the grant is declared, what it adds to the grant (federated credentials
 * instead of a password), and what it declares after. Its declarations live in its `declare.ts`, loaded by `plan`
 * only, so a stack loads only its own delivery's SDKs.
 *
 * Methods are written as methods, not function-valued properties, on purpose: TypeScript checks method parameters
 * bivariantly, so each delivery's typed definition fits the table's one erased type.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Secret } from "@pulumi/kubernetes/core/v1";
import type { AzureEnvironment, RegistryId } from "../azureIds";
import type { ClusterCredentialBinding } from "../clusterBinding";
import type { ConfigKeyGroup, ConfigReader, ProgramCluster } from "../configKeys";
import type { Grant, GrantArgs } from "../grant";

export type { ConfigKeyGroup, ProgramCluster } from "../configKeys";
import type { SecretConsequences } from "../secretHealth";
import type { Problem } from "../validation";

/** What a delivery declared. */
export interface Delivered {
    readonly clusterBinding?: ClusterCredentialBinding;
    readonly pullSecrets: readonly Secret[];
    /** `namespace/name` of every pull secret in the cluster: the component's `pullSecrets` output. */
    readonly pullSecretRefs: readonly string[];
}

/** A delivery planned: checked before the grant is declared, declared after it. */
export interface PlannedDelivery {
    /** Resolves once the delivery's checks pass; the grant waits for it. Absent when there is nothing to check. */
    readonly ready?: pulumi.Output<unknown>;
    /** For a federated delivery: what the grant's federated credentials trust, instead of a password. */
    readonly federation?: GrantArgs["federated"];
    /** Declares the delivery, once the grant exists. */
    deliver(grant: Grant): Delivered;
}

/** What a plan is given besides its checked argument. */
export interface PlanContext {
    /** The component's name: every child's name starts with it. */
    readonly name: string;
    /** The component: every child's parent. */
    readonly component: pulumi.ComponentResource;
    /** Tenant B, where the application's principal holds the pull roles. */
    readonly registryTenantId: string;
    readonly environment: AzureEnvironment;
    readonly registries: readonly RegistryId[];
    /** Login servers of the registries, in `registries` order. */
    readonly loginServers: readonly string[];
}

/** The library argument of `CrossTenantAcrPull` that chooses a delivery (`DeliveryArguments` in the table's file). */
export type DeliveryArgumentKey = "cluster" | "imagePullSecret" | "federatedPullSecret";

/**
 * One delivery. `S`: its stack settings; `A`: its library argument; `C`: that argument, checked; `P`: the component
 * arguments its settings give the program.
 */
export interface Delivery<S extends { readonly kind: string }, A, C, P = object> {
    /** Its `credentialDelivery` value. */
    readonly name: S["kind"];
    /** What it does, in the words `credentialDelivery`'s form quotes. */
    readonly summary: string;
    /** Its page under `docs/`. */
    readonly docs: string;
    /** Whether the grant mints a client secret for it (the secret's lifetime keys apply). */
    readonly secret: boolean;
    /** With a secret: what its expiry breaks and what renewing does, for the grant's warnings. */
    readonly secretConsequences?: SecretConsequences;
    /** Whether the application signs in as the cluster, so roles of the cluster's previous principal apply. */
    readonly clusterTenantRoles: boolean;
    /** Its stack config keys, in groups; a group may be shared with another delivery. */
    readonly configKeys: readonly ConfigKeyGroup<unknown>[];
    /** Its settings, from the values its groups read (`value(group)`). Only for the chosen delivery. */
    settings(value: <T>(group: ConfigKeyGroup<T>) => T, reader: ConfigReader, problems: Problem[]): S;
    /** The component's arguments for these settings: what the program passes. */
    componentArgs(settings: S, cluster: ProgramCluster): P;
    /** The library argument that chooses it, and how the "one delivery" message names it; none for the default. */
    readonly argument?: { readonly key: DeliveryArgumentKey; readonly summary: string };
    /** Checks its library argument with the same rules as its stack config; `key` prefixes every problem's key. */
    checkArgument(key: string, value: A, problems: Problem[]): C;
    /** Starts its checks and returns what it adds to the grant and declares after it. */
    plan(checked: C, context: PlanContext): PlannedDelivery;
}

/** A delivery as the table holds it: its settings, argument and checked form erased. */
export type AnyDelivery = Delivery<{ readonly kind: string }, unknown, unknown, unknown>;

/** Nothing delivered. */
export const NOTHING_DELIVERED: Delivered = { pullSecrets: [], pullSecretRefs: [] };
