import { memoryStore } from '../../src/stores/memory.js';
import { testStore } from './conformance.js';

testStore('memory', async () => memoryStore());
