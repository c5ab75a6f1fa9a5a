-- The write cycle, one wrk thread per connection (so a thread's answers are its connection's, in order):
-- POST a flip, read its id from the JSON answer, PUT the reflection on that id, then the next flip.
--
-- Arguments (after wrk's "--"):
--   mode             "cycle" (POST then PUT), or "post" (POSTs only: the flip's own latency)
--   flip_path        e.g. "/api/v1/habits/%d/flips" (%d: a habit id), or "/flips"
--   reflection_path  e.g. "/api/v1/flips/%d/reflection" (%d: the flip id the POST answered)
--   habits           "-" for none, or a prefix: thread i reads "<prefix>-<i>.txt", one "habit_id token" a
--                    line, habits never flipped and no other thread's; each is flipped once
--   body             the reflection's JSON body
--
-- Counters: `flips` (POST answered 201 or 200 with an id), `cycles` (PUT answered 200), `bad_flips`,
-- `bad_reflections` (any other answer), `lost` (a request whose answer never came: wrk reconnected), and
-- `exhausted` (threads that ran out of habits and stopped early: the run's rate is then too low).

local report = require("report")

setup = report.setup

local habits = nil -- nil: the same flip_path every time (the bare cycle)
local next_habit = 1
local pending = nil -- the request on the wire: { kind = "flip"|"reflection", token = ... }
local flip_id, token_of_flip = nil, nil

function init(args)
   mode, flip_path, reflection_path, body = args[1], args[2], args[3], args[5]
   if args[4] ~= "-" then
      habits = {}
      for line in io.lines(string.format("%s-%d.txt", args[4], index)) do
         local id, token = line:match("^(%d+) (%S+)$")
         table.insert(habits, { id = tonumber(id), token = token })
      end
   end
   flips, cycles, bad_flips, bad_reflections, lost, exhausted = 0, 0, 0, 0, 0, 0
   formed, answered = 0, 0
end

local function headers_for(token)
   local h = { ["Content-Type"] = "application/json" }
   if token then
      h["Authorization"] = "Bearer " .. token
   end
   return h
end

function request()
   formed = formed + 1
   -- Another request before the last one's answer: wrk reconnected a dropped connection, the answer is lost.
   -- Except once: wrk asks thread 0 for a request before the run to check it, and never sends that one.
   if pending and (answered > 0 or formed > 2) then
      lost = lost + 1
   end
   if pending then
      flip_id = nil
   end
   if flip_id then
      pending = { kind = "reflection" }
      return wrk.format("PUT", reflection_path:format(flip_id), headers_for(token_of_flip), body)
   end
   local path, token = flip_path, nil
   if habits then
      local habit = habits[next_habit]
      if not habit then
         exhausted = 1
         wrk.thread:stop()
         pending = nil
         return wrk.format("GET", "/") -- sent, never read: the thread stops
      end
      next_habit = next_habit + 1
      path, token = flip_path:format(habit.id), habit.token
   end
   pending = { kind = "flip", token = token }
   return wrk.format("POST", path, headers_for(token))
end

function response(status, _, answer)
   answered = answered + 1
   local sent = pending
   pending = nil
   if not sent then
      return
   end
   if sent.kind == "flip" then
      local id = (status == 201 or status == 200) and answer:match('"id"%s*:%s*(%d+)')
      if id then
         flips = flips + 1
         if mode == "cycle" then
            flip_id, token_of_flip = tonumber(id), sent.token
         end
      else
         bad_flips = bad_flips + 1
      end
   else
      flip_id = nil
      if status == 200 then
         cycles = cycles + 1
      else
         bad_reflections = bad_reflections + 1
      end
   end
end

done = report.done({ "flips", "cycles", "bad_flips", "bad_reflections", "lost", "exhausted" })
