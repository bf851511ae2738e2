use lwt::{fail_with, lwt_try, resolved, State};
use std::cell::Cell;
use std::rc::Rc;

fn main() {
    let handled = lwt_try!(fail_with::<i32>("late") catch {
        e if e.message() == "late" => resolved(1),
    });
    assert_eq!(handled.state(), State::Fulfilled(1));

    let cleaned = Rc::new(Cell::new(0));
    let c = cleaned.clone();
    let only_finally = lwt_try!(resolved(5) finally {
        c.set(c.get() + 1);
        resolved(())
    });
    assert_eq!(only_finally.state(), State::Fulfilled(5));

    let c = cleaned.clone();
    let both = lwt_try!({ fail_with::<i32>("x") }
        catch { _ => resolved(2) }
        finally { c.set(c.get() + 1); resolved(()) });
    assert_eq!(both.state(), State::Fulfilled(2));
    assert_eq!(cleaned.get(), 2);
}
