import type { ServerInfo } from '../../shared/servers.js';

/** Ready-to-paste client code for a running server: curl, Python openai, TypeScript openai. */
export function snippets(
  server: Pick<ServerInfo, 'openai_base_url' | 'model_name'>,
): Record<'curl' | 'python' | 'typescript', string> {
  const url = server.openai_base_url;
  const model = JSON.stringify(server.model_name);
  return {
    curl: `curl ${url}/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{"model": ${model}, "messages": [{"role": "user", "content": "Hello!"}]}'`,
    python: `from openai import OpenAI

client = OpenAI(base_url="${url}", api_key="not-needed")
reply = client.chat.completions.create(
    model=${model},
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`,
    typescript: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${url}', apiKey: 'not-needed' });
const reply = await client.chat.completions.create({
  model: ${model},
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(reply.choices[0]?.message.content);`,
  };
}
