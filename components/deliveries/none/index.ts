/**
 * The `none` delivery: the grant only. Nothing reaches the cluster; the stack's outputs (the client id, the
 * `servicePrincipalProfile` of the component) are for whoever wires the cluster up. Chosen when no other delivery's
 * argument is given.
 */
import { NOTHING_DELIVERED, type Delivery } from "../delivery";

export interface NoDeliverySettings {
    readonly kind: "none";
}

export const none: Delivery<NoDeliverySettings, undefined, undefined, object> = {
    name: "none",
    summary: "the grant only",
    docs: "docs/configuration.md",
    secret: true,
    secretConsequences: {
        expired:
            "the cluster cannot pull from the registries with it, wherever it was handed (a cluster created with the component's servicePrincipalProfile cannot manage its Azure resources either)",
        renewal: "makes it the component's servicePrincipalProfile output",
    },
    clusterTenantRoles: true,
    configKeys: [],
    settings: () => ({ kind: "none" }),
    componentArgs: () => ({}),
    checkArgument: () => undefined,
    plan: () => ({ deliver: () => NOTHING_DELIVERED }),
};
