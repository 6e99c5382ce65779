import { assertEquals, assertRejects } from "@std/assert";
import { InFlight } from "./in_flight.ts";

Deno.test("InFlight.below() keeps one waiter however many tasks run and however often it waits", async () => {
  const active = new InFlight();
  const ends: (() => void)[] = [];
  for (let i = 0; i < 200; i++) active.add(new Promise<void>((resolve) => ends.push(resolve)));
  for (let round = 0; round < 50; round++) {
    const waited = active.below(200);
    assertEquals(active.waiters, 1);
    ends.pop()!();
    await waited;
    assertEquals(active.waiters, 0);
    active.add(new Promise<void>((resolve) => ends.push(resolve)));
  }
  assertEquals(active.size, 200);
  for (const end of ends) end();
  await active.settled();
  assertEquals(active.size, 0);
});

Deno.test("InFlight.settled() throws the first task's rejection once all have ended", async () => {
  const active = new InFlight();
  let end = () => {};
  active.add(new Promise<void>((resolve) => end = resolve));
  active.add(Promise.reject(new Error("first")));
  active.add(Promise.reject(new Error("second")));
  const settled = active.settled();
  end();
  await assertRejects(() => settled, Error, "first");
});
