/**
 * The `federatedPullSecret` delivery: no secret at all. Registry tokens are minted in the cluster by External
 * Secrets Operator from a federated credential per namespace (`declare.ts`, ESO's specs in `externalSecrets.ts`);
 * the pull secret goes where the pull-secret target says (`../../pullSecretTarget/`, shared with `imagePullSecret`).
 * Its plan reads the cluster's OIDC issuer and ESO's resources before the grant, gives the grant federated
 * credentials instead of a password, and declares the minters, generators and ExternalSecrets after it.
 * Light: `declare.ts`, which loads `@pulumi/kubernetes`, is loaded by the plan only.
 */
import { isClusterName, isResourceGroupName } from "../../azureIds";
import type { ConfigReader } from "../../configKeys";
import { DNS1123_SUBDOMAIN_FORM } from "../../kubernetesNames";
import {
    PULL_SECRET_TARGET_KEYS,
    pullSecretTargetArgs,
    checkPullSecretTargetArgs,
    type CheckedPullSecretTarget,
    type PullSecretTargetSettings,
} from "../../pullSecretTarget/keys";
import { checkKubernetesName, show, type Problem } from "../../validation";
import type { ConfigKeyGroup, Delivery } from "../delivery";
import type * as DeclareModule from "./declare";
import type { FederatedPullSecretDelivery } from "./declare";
import {
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    DEFAULT_REFRESH_INTERVAL,
    FEDERATION_AUDIENCE,
    MAX_FEDERATED_CREDENTIALS,
    REFRESH_INTERVAL_FORM,
    federationSubject,
    isRefreshInterval,
} from "./externalSecrets";

export type { FederatedPullSecretDelivery } from "./declare";

/** The stack settings of this delivery. */
export interface FederatedPullSecretSettings extends PullSecretTargetSettings {
    readonly kind: "federatedPullSecret";
    readonly minterServiceAccount: string;
    readonly refreshInterval: string;
}

/** The federated delivery with its defaults applied. */
export interface CheckedFederated extends CheckedPullSecretTarget<FederatedPullSecretDelivery> {
    readonly minter: string;
    readonly refreshInterval: string;
}

const KEYS = {
    tokenMinterServiceAccount: {
        type: "string",
        required: false,
        default: DEFAULT_MINTER_SERVICE_ACCOUNT,
        form: `the service account External Secrets Operator mints tokens with, created in every namespace, ${DNS1123_SUBDOMAIN_FORM}`,
        description:
            "the service account External Secrets Operator mints registry tokens with, created in every namespace of pullSecretNamespaces (each gets a federated credential on the application).",
    },
    tokenRefreshInterval: {
        type: "string",
        required: false,
        default: DEFAULT_REFRESH_INTERVAL,
        form: REFRESH_INTERVAL_FORM,
        description: "how often External Secrets Operator mints a new registry token, 5m to 2h (a token lives about three hours).",
    },
} as const;

const TOKEN_KEYS: ConfigKeyGroup<{ readonly minterServiceAccount: string; readonly refreshInterval: string }> = {
    keys: KEYS,
    read(read: ConfigReader, problems: Problem[]) {
        const minterServiceAccount = read.text("tokenMinterServiceAccount");
        checkKubernetesName("tokenMinterServiceAccount", minterServiceAccount, problems);
        const refreshInterval = read.text("tokenRefreshInterval");
        if (!isRefreshInterval(refreshInterval)) {
            problems.push({ key: "tokenRefreshInterval", value: show(refreshInterval), expected: REFRESH_INTERVAL_FORM });
        }
        return { minterServiceAccount, refreshInterval };
    },
};

function declarations(): typeof DeclareModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./declare") as typeof DeclareModule;
}

/** What this delivery's settings give the component. */
export interface FederatedPullSecretComponentArgs {
    readonly secretLifetimeDays: undefined;
    readonly secretRenewBeforeDays: undefined;
    readonly federatedPullSecret: FederatedPullSecretDelivery;
}

export const federatedPullSecret: Delivery<
    FederatedPullSecretSettings,
    FederatedPullSecretDelivery,
    CheckedFederated,
    FederatedPullSecretComponentArgs
> = {
    name: "federatedPullSecret",
    summary: "registry tokens minted in the cluster by External Secrets Operator from a federated credential: no secret",
    docs: "docs/federated-pull-secret.md",
    secret: false,
    clusterTenantRoles: false,
    configKeys: [PULL_SECRET_TARGET_KEYS, TOKEN_KEYS],
    settings(value, _read, problems) {
        const target = value(PULL_SECRET_TARGET_KEYS);
        if (target.namespaces.length > MAX_FEDERATED_CREDENTIALS) {
            problems.push({
                key: "pullSecretNamespaces",
                value: `${target.namespaces.length} namespaces`,
                expected: `at most ${MAX_FEDERATED_CREDENTIALS} with federatedPullSecret: each needs a federated credential on the application, and Entra allows ${MAX_FEDERATED_CREDENTIALS} per application`,
            });
        }
        return { kind: "federatedPullSecret", ...target, ...value(TOKEN_KEYS) };
    },
    componentArgs: (settings, cluster) => ({
        // No secret: the secret's lifetime keys do not apply (the config refuses them off their defaults).
        secretLifetimeDays: undefined,
        secretRenewBeforeDays: undefined,
        federatedPullSecret: {
            ...pullSecretTargetArgs(settings, cluster),
            cluster: { resourceGroupName: cluster.resourceGroupName, clusterName: cluster.clusterName },
            minterServiceAccount: settings.minterServiceAccount,
            refreshInterval: settings.refreshInterval,
        },
    }),
    argument: { key: "federatedPullSecret", summary: "tokens minted in the cluster, no secret" },
    /**
     * The pull-secret target's checks, the cluster whose issuer it trusts, the minting service account, the refresh
     * interval, and Entra's limit of federated credentials per application (one per namespace).
     */
    checkArgument(key, delivery, problems) {
        const base = checkPullSecretTargetArgs(key, delivery, problems);
        const cluster = delivery.cluster as FederatedPullSecretDelivery["cluster"] | undefined;
        if (!cluster || !isResourceGroupName(cluster.resourceGroupName)) {
            problems.push({
                key: `${key}.cluster.resourceGroupName`,
                value: show(cluster?.resourceGroupName),
                expected: "a resource group name",
            });
        }
        if (!cluster || !isClusterName(cluster.clusterName)) {
            problems.push({ key: `${key}.cluster.clusterName`, value: show(cluster?.clusterName), expected: "an AKS cluster name" });
        }
        const minter = delivery.minterServiceAccount ?? DEFAULT_MINTER_SERVICE_ACCOUNT;
        checkKubernetesName(`${key}.minterServiceAccount`, minter, problems);
        const refreshInterval = delivery.refreshInterval ?? DEFAULT_REFRESH_INTERVAL;
        if (!isRefreshInterval(refreshInterval)) {
            problems.push({ key: `${key}.refreshInterval`, value: show(refreshInterval), expected: REFRESH_INTERVAL_FORM });
        }
        const namespaces = delivery.namespaces ?? [];
        if (namespaces.length > MAX_FEDERATED_CREDENTIALS) {
            problems.push({
                key: `${key}.namespaces`,
                value: `${namespaces.length} namespaces`,
                expected: `at most ${MAX_FEDERATED_CREDENTIALS}: each needs a federated credential on the application, and Entra allows ${MAX_FEDERATED_CREDENTIALS} per application`,
            });
        }
        return { ...base, minter, refreshInterval };
    },
    plan(federated, { name, component, registryTenantId, environment, registries, loginServers }) {
        const module = declarations();
        const checks = module.checkFederatedTargets(name, federated.delivery, federated.secretName, federated.serviceAccounts, component);
        return {
            ready: checks.targets.ready,
            federation: {
                issuer: checks.issuer,
                audience: FEDERATION_AUDIENCE,
                subjects: federated.delivery.namespaces.map((namespace) => ({
                    key: namespace,
                    subject: federationSubject(namespace, federated.minter),
                })),
            },
            deliver: (grant) => {
                const declared = module.deliverFederatedPullSecret(
                    name,
                    checks,
                    {
                        clientId: grant.application.clientId,
                        registryTenantId,
                        environment,
                        registries: registries.map((registry, index) => ({
                            registryName: registry.registryName,
                            loginServer: loginServers[index],
                        })),
                    },
                    { minter: federated.minter, refreshInterval: federated.refreshInterval },
                    { parent: component, dependsOn: grant.ready },
                );
                return { pullSecrets: [], pullSecretRefs: declared.refs };
            },
        };
    },
};
