// What the till's modules share once it has started: the tablet's journal and its sync loop.
// app.js fills these in at start-up; actions in other modules read them when they run.
export const ctx = { journal: null, sync: null };
