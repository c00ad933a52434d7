// Generation of what runs in the build container: the build script and its shell-detection command.
export * from './build-script.ts';
export * from './go-duration.ts';
export * from './shell.ts';
export * from './variables.ts';
