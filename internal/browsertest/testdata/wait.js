'use strict';
// Changes the status some time after load, as a page does after a fetch.
setTimeout(() => {
  document.getElementById('status').textContent = 'Report   saved\n(synthetic)';
}, 300);
