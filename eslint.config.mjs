// Type-aware lint for the program, the library, the tests and the policy pack.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    // examples/ import the packed package, which only exists inside tests/examples.test.ts's scratch project;
    // that test type-checks them there.
    { ignores: ["bin/", "lib/", "node_modules/", "examples/", "**/*.js", "**/*.mjs"] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            // An Output in a template literal renders as a warning text, not its value: use pulumi.interpolate.
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    {
        files: ["tests/**/*.ts"],
        rules: {
            // Tests drive provider methods that the SDK types as optional, and fake async SDK interfaces.
            "@typescript-eslint/no-non-null-assertion": "off",
            "@typescript-eslint/require-await": "off",
        },
    },
);
