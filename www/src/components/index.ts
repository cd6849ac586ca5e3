export * from './results';
export * from './time';
export * from './misc';
export * from './table';
