/**
 * `switchboard/call`: see ../../README.md for what this layer will hold. It exports nothing
 * yet; the subpath exists so the package's export map is stable from the first release.
 */
export {};
