// Unpack plotly.js (gzip + base64 inside the page: no network) and draw every chart.
// Where this fails, say so; every chart keeps its table with the same numbers.
(async function drawCharts() {
  "use strict";
  const plots = Array.from(document.querySelectorAll(".plot[data-figure]"));
  const note = document.getElementById("chart-note");
  const fail = (why) => {
    note.hidden = false;
    // The sentence is the page's own, in its language: "... ({why}) ...".
    note.textContent = note.dataset.failed.replace("{why}", why);
    document.body.dataset.charts = "failed";
  };
  if (!plots.length) { return; }
  try {
    if (typeof DecompressionStream === "undefined") { throw new Error("no DecompressionStream"); }
    const text = atob(document.getElementById("plotly-gz").textContent.trim());
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const code = await new Response(stream).text();
    const script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
    if (!window.Plotly) { throw new Error("plotly.js did not load"); }
    for (const div of plots) {
      const figure = JSON.parse(document.getElementById(div.dataset.figure).textContent);
      const layout = Object.assign({ margin: { t: 30, r: 20, b: 60, l: 60 } }, figure.layout || {});
      await window.Plotly.newPlot(div, figure.data || [], layout,
        { displaylogo: false, responsive: true });
      const details = div.closest("figure").querySelector("details.numbers");
      if (details) { details.open = false; }
    }
    document.body.dataset.charts = "drawn";
  } catch (err) {
    fail(err && err.message ? err.message : String(err));
  }
})();
