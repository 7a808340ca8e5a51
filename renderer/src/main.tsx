import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { resolveApi, setApi } from './api/index.js';
import { connectStores } from './stores/connect.js';
import './styles.css';
import './styles/flow.css';

const root = createRoot(document.getElementById('root')!);
const api = resolveApi();
if ('error' in api) {
  root.render(
    <div className="content">
      <h1>Berth</h1>
      <p className="error-note">{api.error}</p>
    </div>,
  );
} else {
  setApi(api);
  connectStores();
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
