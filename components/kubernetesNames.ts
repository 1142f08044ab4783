/**
 * Kubernetes object-name rules, as pure functions (the API server's validation, so a bad name is reported with the
 * other config problems instead of failing half-way through a deployment).
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label (namespace names): 1-63 lower-case letters, digits or '-', starting and ending alphanumeric. */
export function isDns1123Label(value: string): boolean {
    return value.length <= 63 && DNS1123_LABEL.test(value);
}

/**
 * A DNS-1123 subdomain (Secret and ServiceAccount names): at most 253 characters, dot-separated labels of lower-case
 * letters, digits and '-', each starting and ending alphanumeric.
 */
export function isDns1123Subdomain(value: string): boolean {
    return value.length >= 1 && value.length <= 253 && value.split(".").every((label) => DNS1123_LABEL.test(label));
}

export const DNS1123_LABEL_FORM = "a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit";
export const DNS1123_SUBDOMAIN_FORM =
    "a DNS-1123 subdomain name: at most 253 lower-case letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit";
