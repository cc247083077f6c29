/** Plotly figures as pure functions (spec in, {data, layout} out) and their CSV writers. */
export * from './types.ts';
export * from './confusion.ts';
export * from './similarity.ts';
export * from './table-one.ts';
export * from './curves.ts';
export * from './training.ts';
export * from './html.ts';
