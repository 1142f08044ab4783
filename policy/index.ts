/** The CrossGuard policy pack: `pulumi preview --policy-pack ./policy`. Constructing it starts the policy server. */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("aks-acr-cross-tenant", { policies });
