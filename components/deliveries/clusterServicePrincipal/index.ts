/**
 * The `clusterServicePrincipal` delivery: an existing service-principal cluster is switched to the application's
 * client id and secret, and kept there (`declare.ts`; the binding in `../../clusterBinding.ts`, the reset in
 * `../../reset/`). Its keys, its argument's checks and its plan; light: `declare.ts` is loaded by the plan only.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isClusterName, isResourceGroupName } from "../../azureIds";
import { BINDING_DELETE_POLICIES, type BindingDeletePolicy } from "../../reset/bindingState";
import {
    CLUSTER_TENANT_ROLE_FORM,
    GUID_FORM,
    checkClusterTenantRoles,
    checkGuid,
    show,
    type Problem,
    type ResolvedClusterTenantRole,
} from "../../validation";
import type { ConfigReader } from "../../configKeys";
import type { ClusterCredentialBinding } from "../../clusterBinding";
import { NOTHING_DELIVERED, type ConfigKeyGroup, type Delivery } from "../delivery";
import type * as DeclareModule from "./declare";
import type { ClusterToBind } from "./declare";

export type { ClusterToBind } from "./declare";

/** The stack settings of this delivery. */
export interface ClusterServicePrincipalSettings {
    readonly kind: "clusterServicePrincipal";
    readonly roles: readonly ResolvedClusterTenantRole[];
    readonly deletePolicy: BindingDeletePolicy;
    readonly restore?: { readonly clientId: string; readonly secret: pulumi.Output<string> };
    readonly timeoutMinutes: number;
}

type KeyValues = Omit<ClusterServicePrincipalSettings, "kind">;

const KEYS = {
    clusterRoleAssignments: {
        type: "array",
        required: false,
        default: [],
        untyped: true,
        form: `a list of ${CLUSTER_TENANT_ROLE_FORM}`,
        description:
            "roles the cluster's previous service principal held in tenant A, granted to the new one before the switch, as a list of {scope, role}; role is NetworkContributor, Contributor, Reader or a role definition GUID.",
    },
    clusterDeletePolicy: {
        type: "string",
        required: false,
        default: "refuse",
        form: "one of refuse, restore, leave: what deleting the cluster binding does",
        description:
            "what deleting the cluster binding does: refuse (default), restore (switch the cluster to restoreClientId first) or leave (leave the cluster on the application, which stops working when its secret goes).",
    },
    restoreClientId: {
        type: "string",
        required: false,
        default: "",
        form: `the client id to switch the cluster back to when the binding is deleted with clusterDeletePolicy restore, ${GUID_FORM}`,
        description: "the client id of the service principal to restore with clusterDeletePolicy restore.",
    },
    restoreClientSecret: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for restoreClientId, set with `pulumi config set --secret`",
        description: "the client secret for restoreClientId. Set with pulumi config set --secret.",
    },
    resetTimeoutMinutes: {
        type: "integer",
        required: false,
        default: 60,
        form: "an integer from 5 to 1440 (minutes)",
        description: "the overall deadline of one credential reset in minutes, 5 to 1440; big scale-set clusters roll slowly.",
    },
} as const;

const CLUSTER_KEYS: ConfigKeyGroup<KeyValues> = {
    keys: KEYS,
    read(read: ConfigReader, problems: Problem[]): KeyValues {
        const roles = checkClusterTenantRoles("clusterRoleAssignments", read.list("clusterRoleAssignments", false), problems);
        const deletePolicy = read.text("clusterDeletePolicy");
        if (!(BINDING_DELETE_POLICIES as readonly string[]).includes(deletePolicy)) {
            problems.push({ key: "clusterDeletePolicy", value: show(deletePolicy), expected: KEYS.clusterDeletePolicy.form });
        }
        const restoreClientId = read.present("restoreClientId");
        const restoreSecret = read.present("restoreClientSecret");
        if (deletePolicy === "restore") {
            if (restoreClientId === undefined) {
                problems.push({
                    key: "restoreClientId",
                    value: undefined,
                    expected: `the client id to restore, as clusterDeletePolicy is restore; set it with: ${read.setCommand("restoreClientId")}`,
                });
            }
            if (restoreSecret === undefined) {
                problems.push({
                    key: "restoreClientSecret",
                    value: undefined,
                    expected: `its client secret, as clusterDeletePolicy is restore; set it with: ${read.setCommand("restoreClientSecret")}`,
                });
            }
        } else if (restoreClientId !== undefined || restoreSecret !== undefined) {
            problems.push({
                key: restoreClientId !== undefined ? "restoreClientId" : "restoreClientSecret",
                value: restoreClientId !== undefined ? show(restoreClientId) : "a secret (value hidden)",
                expected: `no restore credentials unless clusterDeletePolicy is restore (it is ${show(deletePolicy)})`,
            });
        }
        if (restoreClientId !== undefined) checkGuid("restoreClientId", restoreClientId, "a client (application) id", problems);
        const timeoutMinutes = read.integer("resetTimeoutMinutes");
        if (!Number.isNaN(timeoutMinutes) && (timeoutMinutes < 5 || timeoutMinutes > 1440)) {
            problems.push({ key: "resetTimeoutMinutes", value: show(timeoutMinutes), expected: KEYS.resetTimeoutMinutes.form });
        }
        return {
            roles,
            deletePolicy: deletePolicy as BindingDeletePolicy,
            restore:
                restoreClientId !== undefined && restoreSecret !== undefined
                    ? { clientId: restoreClientId, secret: read.secret(restoreSecret) }
                    : undefined,
            timeoutMinutes,
        };
    },
};

/** Checks a cluster to bind: ids and names, and a principal to restore when the policy says restore. */
export function checkClusterToBind(key: string, cluster: ClusterToBind, problems: Problem[]): void {
    checkGuid(`${key}.subscriptionId`, cluster.subscriptionId, "a subscription id", problems);
    if (!isResourceGroupName(cluster.resourceGroupName)) {
        problems.push({ key: `${key}.resourceGroupName`, value: show(cluster.resourceGroupName), expected: "a resource group name" });
    }
    if (!isClusterName(cluster.clusterName)) {
        problems.push({ key: `${key}.clusterName`, value: show(cluster.clusterName), expected: "an AKS cluster name" });
    }
    if (cluster.deletePolicy === "restore" && !cluster.restore) {
        problems.push({
            key: `${key}.restore`,
            value: undefined,
            expected: 'the service principal to restore when deletePolicy is "restore"',
        });
    }
}

/** The declarations, loaded only by stacks that use this delivery: they load the dynamic provider and the AKS read. */
export function declarations(): typeof DeclareModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./declare") as typeof DeclareModule;
}

/** What this delivery's settings give the component. */
export interface ClusterServicePrincipalComponentArgs {
    readonly clusterTenantRoles: readonly ResolvedClusterTenantRole[];
    readonly cluster: ClusterToBind;
}

/** The component, as this delivery's plan uses it: `CrossTenantAcrPull.bindCluster` does the binding. */
interface BindingHost extends pulumi.ComponentResource {
    bindCluster(name: string, cluster: ClusterToBind): ClusterCredentialBinding;
}

export const clusterServicePrincipal: Delivery<
    ClusterServicePrincipalSettings,
    ClusterToBind,
    ClusterToBind,
    ClusterServicePrincipalComponentArgs
> = {
    name: "clusterServicePrincipal",
    summary: "switch a service-principal cluster to the application",
    docs: "docs/cluster-service-principal.md",
    secret: true,
    secretConsequences: {
        expired: "the cluster cannot pull from the registries or manage its Azure resources",
        renewal: "switches the cluster to it",
    },
    clusterTenantRoles: true,
    configKeys: [CLUSTER_KEYS],
    settings: (value) => ({ kind: "clusterServicePrincipal", ...value(CLUSTER_KEYS) }),
    componentArgs: (settings, cluster) => ({
        clusterTenantRoles: settings.roles,
        cluster: {
            subscriptionId: cluster.subscriptionId,
            resourceGroupName: cluster.resourceGroupName,
            clusterName: cluster.clusterName,
            deletePolicy: settings.deletePolicy,
            restore: settings.restore,
            timeoutMinutes: settings.timeoutMinutes,
            signIn: cluster.signIn,
        },
    }),
    argument: { key: "cluster", summary: "switch a service-principal cluster" },
    checkArgument(key, value, problems) {
        checkClusterToBind(key, value, problems);
        return value;
    },
    plan(cluster, { name, component }) {
        return {
            ready: declarations().checkClusterTakesServicePrincipal(cluster, component),
            deliver: () => ({
                ...NOTHING_DELIVERED,
                clusterBinding: (component as BindingHost).bindCluster(`${name}-cluster-binding`, cluster),
            }),
        };
    },
};
