/* Pages with nothing but the shared chrome (home, 404). */
import { initThemeToggle } from './theme.js';

initThemeToggle();
