/** Plotly figures as pure functions (spec in, {data, layout} out) and their CSV writers. */
export * from './types.ts';
export * from './confusion.ts';
export * from './similarity.ts';
export * from './table-one.ts';
export * from './curves.ts';
export * from './training.ts';
export * from './html.ts';
export * from './image-panels.ts';
export * from './lines.ts';
export * from './bars.ts';
export * from './scaling.ts';
export * from './side-by-side.ts';
export * from './pretrain-curves.ts';
