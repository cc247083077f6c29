/**
 * What the notebooks call: one module, loaded once per kernel by `load.cjs`
 * (`const nb = await require('../lib/notebook/load.cjs')()`). Everything here is ordinary lib/
 * code with tests; a notebook only picks parameters and shows results. test/notebooks.test.ts
 * type-checks every notebook's code cells against this module.
 */
// parameters, display, runs
export { params, resolveParams, envName } from './params.ts';
export { show, inKernel } from '../report/display.ts';
export { repoPath, runSets, runOrReuse, findFinishedRun, SMOKE_SETS } from './runs.ts';
export { runExperiment } from '../experiment/run.ts';
export { loadExperiment } from '../experiment/config.ts';

// a run folder → tables and figures (the same ones report.html draws)
export { loadRun } from '../report/load-run.ts';
export { planReport, tableOneRow } from '../report/sections.ts';
export { showTable, showPlanFigures, headlineRows, reportPath, configRows } from './show.ts';

// figures (pure: spec in, plotly figure out)
export {
  confusionMatrixFigure, similarityHeatmapFigure, cosineMatrix, similarityBlocks, tableOneFigure, detFigure, rocFigure,
  trainingCurveFigure, kShotCurveFigure, PAPER_TABLE_I,
  imagePanelsFigure, linesFigure, crossSimilarityFigure, groupedBarsFigure, scalingFigure,
} from '../figures/index.ts';

// notebook 2: data and preprocessing
export { loadDataset } from '../data/dataset.ts';
export { splitDataset } from '../data/split.ts';
export { evaluateDetection } from '../preprocess/evaluate-detection.ts';
export { experimentDataset, identityRows, datasetTotals, splitRows, sampleEntries, detectionPanels, detectionRows, prepareSubset, contactSheetPanels, prepareRows } from './data.ts';

// notebooks 4–5: ablation grids (lib/grid, as `clipface grid`)
export { runGridFile, gridGroupRows, gridMeasures, nameConfoundRows, nameModeMeasures, NAME_MODE_MEASURES, showGridFigures } from './grids.ts';

// notebook 6: deployment and open set
export { thresholdSweep, sweepFigure, sweepTable, deploymentAt, deploymentOptions, runDeployment, decisionRows, openSetRows, defaultThresholds } from './deployment.ts';

// notebook 7: feature similarity
export { runSimilarity, similaritySummary, similarityFigures } from './similarity.ts';

// notebook 8: scaling
export { measureScaling } from '../experiment/scaling.ts';
export { latestBenchTextSteps, scalingSeries } from './bench.ts';

// notebook 9: the teaching CLIP
export { loadPretrainReport, pretrainRows, pretrainFigures, unseenStudy, unseenPanels, attributeRows, attributeBars, identificationRows, identificationFigure } from './teaching.ts';
