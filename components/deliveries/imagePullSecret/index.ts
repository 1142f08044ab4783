/**
 * The `imagePullSecret` delivery: the application's client id and secret in a Kubernetes image pull secret in each
 * namespace, for any cluster (`declare.ts`). Its keys are the pull-secret target's (`../../pullSecretTarget/`, shared
 * with `federatedPullSecret`); its plan checks the targets before the grant and declares the Secrets after it.
 * Light: `declare.ts`, which loads `@pulumi/kubernetes`, is loaded by the plan only.
 */
import {
    PULL_SECRET_TARGET_KEYS,
    pullSecretTargetArgs,
    checkPullSecretTargetArgs,
    type CheckedPullSecretTarget,
    type PullSecretTargetSettings,
} from "../../pullSecretTarget/keys";
import type { Delivery } from "../delivery";
import type * as DeclareModule from "./declare";
import type { ImagePullSecretDelivery } from "./declare";

export type { ImagePullSecretDelivery } from "./declare";

/** The stack settings of this delivery. */
export interface ImagePullSecretSettings extends PullSecretTargetSettings {
    readonly kind: "imagePullSecret";
}

function declarations(): typeof DeclareModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./declare") as typeof DeclareModule;
}

export const imagePullSecret: Delivery<
    ImagePullSecretSettings,
    ImagePullSecretDelivery,
    CheckedPullSecretTarget,
    { readonly imagePullSecret: ImagePullSecretDelivery }
> = {
    name: "imagePullSecret",
    summary: "a Kubernetes pull secret, for any cluster",
    docs: "docs/image-pull-secret.md",
    secret: true,
    secretConsequences: {
        expired:
            "the cluster cannot pull from the registries with the image pull Secrets, which hold it (images already on the nodes keep running; the cluster's own identity is not affected)",
        renewal: "writes it into the image pull Secrets",
    },
    clusterTenantRoles: false,
    configKeys: [PULL_SECRET_TARGET_KEYS],
    settings: (value) => ({ kind: "imagePullSecret", ...value(PULL_SECRET_TARGET_KEYS) }),
    componentArgs: (settings, cluster) => ({ imagePullSecret: pullSecretTargetArgs(settings, cluster) }),
    argument: { key: "imagePullSecret", summary: "a pull secret, any cluster" },
    checkArgument: (key, value, problems) => checkPullSecretTargetArgs(key, value, problems),
    plan(pullSecret, { name, component, loginServers }) {
        const module = declarations();
        const targets = module.checkPullSecretTargets(
            name,
            pullSecret.delivery,
            pullSecret.secretName,
            pullSecret.serviceAccounts,
            component,
        );
        return {
            ready: targets.ready,
            deliver: (grant) => {
                const credentials = { clientId: grant.application.clientId, secret: grant.secret!, loginServers };
                const options = { parent: component, dependsOn: grant.ready };
                const declared = module.deliverPullSecret(name, targets, credentials, options);
                return { pullSecrets: declared.secrets, pullSecretRefs: declared.refs };
            },
        };
    },
};
